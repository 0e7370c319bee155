package main

import "context"

func scenarioMisconfig(ctx context.Context, e *env) result { return result{false, "not implemented"} }
