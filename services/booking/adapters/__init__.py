"""What the booking service plugs into: tables, repositories, event mapping, migrations."""
