"""Forms: definitions and their published versions, submissions and the files taken out of them."""
