"""Orders in, orders out: parsing and the rules that price them (a package beside the script)."""
