"""Models: compose layers and write their own forward/backward chain explicitly."""
