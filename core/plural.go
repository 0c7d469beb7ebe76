package core

import "strconv"

// Plural is n with the word that goes with it: "1 user", "0 users",
// "3 users". Every count a person reads goes through it, so no sentence
// says "1 users".
func Plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
