"""Operating the box: retention, erasure on request, backup and restore, health and the disk
guard. Each module is one concern; the SQL they need lives in appliance.store."""
