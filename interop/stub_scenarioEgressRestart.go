package main

import "context"

func scenarioEgressRestart(ctx context.Context, e *env) result {
	return result{false, "not implemented"}
}
