"""Who a mail goes to, with everything its merge fields need, selected in SQL."""
