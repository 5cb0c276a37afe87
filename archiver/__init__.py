"""Archive Azure Communication Services call recordings to long-term Blob Storage."""
