"""What conclint knows of a file: the models rules query."""
