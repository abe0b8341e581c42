"""The stored reactivation list and the dormancy settings, as readers and editors see them."""
