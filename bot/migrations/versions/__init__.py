"""One module per schema revision, oldest first: 0001_initial is the tables as `create_all` made them."""
