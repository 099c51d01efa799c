"""AWS Lambda handlers: each turns an event into one call of the core."""
