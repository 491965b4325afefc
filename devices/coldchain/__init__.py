"""Cold-chain loggers: mean kinetic temperature, excursions, and the online evaluation of a
leg's readings against the labelled range of the products it carries."""
