"""The supply chain: products, lots, sites, shipments and legs, deliveries and purchases,
and the traces through them, backward from a complaint and forward from a shipment."""
