package bgcopy

// HeaderConstantsForTest exposes the generated constant table to the external tests.
func HeaderConstantsForTest() map[string]int64 {
	m := make(map[string]int64, len(headerConstants))
	for _, c := range headerConstants {
		m[c.name] = c.value
	}
	return m
}
