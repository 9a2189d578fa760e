"""Image data: datasets (recipe keys and YAML files), image files, and the feeds a recipe's model takes."""
