// Package termsecret reads a secret (a PIN, an agent secret, a password)
// for the command line without putting it in argv: typed at a terminal
// without echo, or read from a pipe. It wraps golang.org/x/term.
package termsecret

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// maxLen bounds what is read from a pipe: no secret is longer, and a
// mistaken redirect of a big file should not be read whole.
const maxLen = 4096

// Read returns one secret from in. When in is a terminal it prompts on
// prompt with "label: " and reads without echo, then asks again and
// requires the same value, since nobody can see a typo; otherwise it reads
// the first line of in. label names the secret in prompts and messages,
// e.g. "PIN for alice".
func Read(in io.Reader, prompt io.Writer, label string) (string, error) {
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return readTerminal(int(f.Fd()), prompt, label)
	}
	return readLine(in, label)
}

func readTerminal(fd int, prompt io.Writer, label string) (string, error) {
	ask := func(p string) (string, error) {
		fmt.Fprintf(prompt, "%s: ", p)
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(prompt) // the newline the user typed was not echoed
		if err != nil {
			return "", fmt.Errorf("read the %s from the terminal: %w", label, err)
		}
		return string(b), nil
	}
	first, err := ask(upperFirst(label))
	if err != nil {
		return "", err
	}
	if first == "" {
		return "", fmt.Errorf("no %s was typed", label)
	}
	again, err := ask("Again, to confirm")
	if err != nil {
		return "", err
	}
	if again != first {
		return "", fmt.Errorf("the two entries of the %s differ; nothing was changed", label)
	}
	return first, nil
}

func readLine(in io.Reader, label string) (string, error) {
	r := bufio.NewReaderSize(io.LimitReader(in, maxLen+1), 512)
	line, err := r.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the %s from standard input: %w", label, err)
	}
	if len(line) > maxLen {
		return "", fmt.Errorf("the %s on standard input is longer than %d characters", label, maxLen)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", fmt.Errorf("no %s was given on standard input", label)
	}
	return line, nil
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
