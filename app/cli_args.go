package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"provisio/core"
)

// runCommand parses flags anywhere among the arguments, so both
// "user add bob --pin 1234" and "user add --pin 1234 bob" work. A
// negative number is an argument, never a flag (no flag is named by a
// number), so "profile set Sales pin_lock_time -5" reaches the field's
// own rule, which says the valid range, instead of the flag parser's
// "flag provided but not defined: -5"; "--" is not needed before it.
// name is the command as typed ("user add"), for the sentences that
// name it.
func (c *cli) runCommand(name string, cmd command, args []string) error {
	fs := flag.NewFlagSet(cmd.usage, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	run := cmd.setup(fs)
	help := fs.Bool("help", false, "show help")
	var pos []string
	for len(args) > 0 {
		if negativeNumber(args[0]) {
			pos, args = append(pos, args[0]), args[1:]
			continue
		}
		// The flag parser sees the arguments up to the next negative
		// number standing where a flag could; the rest waits.
		cut := nextNegative(fs, args)
		if err := fs.Parse(args[:cut]); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				*help = true
				break
			}
			return optionError(name, cmd.usage, err, args)
		}
		// What Parse left is the tail of args[:cut].
		left := len(fs.Args())
		args = args[cut-left:]
		if left > 0 {
			pos, args = append(pos, args[0]), args[1:]
		}
	}
	if *help {
		// The service's commands manage the unit, not a data
		// directory, as "provisio service --help" lists them.
		global := "[--data DIR] "
		if strings.HasPrefix(cmd.usage, "service ") {
			global = ""
		}
		fmt.Fprintf(c.out, "Usage: provisio %s%s\n", global, cmd.usage)
		fs.SetOutput(c.out)
		fs.PrintDefaults()
		return errHelp
	}
	if len(pos) != cmd.args {
		return usagef("expected %s (usage: provisio %s)", core.Plural(cmd.args, "argument", "arguments"), cmd.usage)
	}
	return run(c, pos)
}

// negativeNumber reports whether arg is a number with a minus sign, such
// as -5 or -0.5: a value, where the flag parser would see a flag.
func negativeNumber(arg string) bool {
	if len(arg) < 2 || arg[0] != '-' || !(arg[1] >= '0' && arg[1] <= '9' || arg[1] == '.') {
		return false
	}
	_, err := strconv.ParseFloat(arg[1:], 64)
	return err == nil
}

// nextNegative is the index in args of the first negative number that
// stands where the flag parser would read a flag, len(args) if none. A
// negative number that is the value of the flag before it ("--tail -5")
// is the parser's, and "--" ends the flags.
func nextNegative(fs *flag.FlagSet, args []string) int {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return len(args)
		case negativeNumber(a):
			return i
		case len(a) < 2 || a[0] != '-' || strings.Contains(a, "="):
			continue
		}
		f := fs.Lookup(strings.TrimLeft(a, "-"))
		if f == nil {
			continue
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !b.IsBoolFlag() {
			i++ // the flag's value
		}
	}
	return len(args)
}

// undefinedFlag starts the flag package's error for an option no flag
// has; the option's name, without its dashes, follows.
const undefinedFlag = "flag provided but not defined: -"

// optionError is the usage error for err, the flag parser's refusal of
// args for command name ("" for provisio's own options), whose usage
// line is usage ("" for none). An unknown
// option is named as typed, without a value given with "=" (it could be
// a secret), with the command and where its options are listed:
// "provisio user add: unknown option -x (see provisio user add --help)",
// in place of Go's "flag provided but not defined: -x". Any other error
// is the flag parser's sentence, followed by the usage line.
func optionError(name, usage string, err error, args []string) error {
	opt, ok := strings.CutPrefix(err.Error(), undefinedFlag)
	if !ok && usage != "" {
		return usagef("%v (usage: provisio %s)", err, usage)
	} else if !ok {
		return usageError{msg: err.Error()}
	}
	typed := "-" + opt
	for _, a := range args {
		if a == "--" {
			break
		}
		flagPart, _, _ := strings.Cut(a, "=")
		if strings.HasPrefix(a, "-") && strings.TrimLeft(flagPart, "-") == opt {
			typed = flagPart
			break
		}
	}
	cmd := strings.TrimSpace("provisio " + name)
	return usageError{
		msg:  fmt.Sprintf("unknown option %s", typed),
		line: fmt.Sprintf("%s: unknown option %s (see %s --help)", cmd, typed, cmd),
	}
}
