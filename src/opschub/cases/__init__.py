"""Cases: a child's case from the reports to the people involved, with record-level access."""
