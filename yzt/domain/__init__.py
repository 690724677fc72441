"""Domain rules of the service: ID numbers, number segments, masking, the operator topology."""
