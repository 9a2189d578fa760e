"""Latency benchmarking: statistics, timers, the warm-up/measure loop and memory-stability sampling."""
