"""Information-analytical products: bulletins, the dashboard's series and the public feed."""
