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

// PluralGrouped is Plural with the digits grouped in thousands, "90,000
// users", for counts that run that high, such as an import's: "90000
// users ready to import" had to be counted off by eye.
func PluralGrouped(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return GroupDigits(n) + " " + many
}

// GroupDigits writes 1000000 as 1,000,000 for messages people read.
func GroupDigits(n int) string {
	s := strconv.Itoa(n)
	sign := ""
	if n < 0 {
		sign, s = "-", s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return sign + s
}
