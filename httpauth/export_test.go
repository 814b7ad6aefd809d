package httpauth

// RoutePatterns returns the mux pattern of every route the Handler serves,
// for the tests that hold the OpenAPI document to them.
func RoutePatterns() []string {
	patterns := make([]string, 0, len(routeTable))
	for _, rt := range routeTable {
		patterns = append(patterns, rt.pattern)
	}
	return patterns
}
