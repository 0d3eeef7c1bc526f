"""Partner sites for the demo: the tire shop and the garage, Avain's relying parties."""
