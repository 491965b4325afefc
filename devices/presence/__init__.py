"""In-store presence: stores, zones and their beacons; sightings debounced into visits."""
