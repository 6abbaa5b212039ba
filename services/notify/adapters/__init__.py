"""What notify plugs into: tables, the SQL store, providers, event mapping, migrations."""
