"""What the services agree on, pure: task normalization, the routing rule
table, the bodies more than one service sends or receives, actor names."""
