"""GS1 EPCIS 2.0 JSON-LD: the supply chain exported as events and imported from them."""
