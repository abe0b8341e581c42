"""The data-quality report: the four faults that make reactivation fail, counted and ranked."""
