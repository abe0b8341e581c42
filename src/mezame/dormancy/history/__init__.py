"""Reading the history that dormancy is judged from."""
