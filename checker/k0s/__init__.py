"""What we know about k0s: releases and their defaults, image repositories, pins, document kinds, the cluster model."""
