package main

import "github.com/netlens/netlens/agent/drops"

func unpin(path string) error { return drops.Unpin(path) }
