package conditions

import (
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
)

// newEnv declares the attributes and functions IAM conditions may use.
// CEL's standard library covers comparisons, timestamp(), duration(), the
// time accessors with time zones (getHours("Europe/Berlin"), …),
// startsWith, endsWith, contains, matches and size. IAM adds extract() and
// the tag and API-attribute functions; the latter depend on data the audit
// does not have and evaluate to unknown.
func newEnv() (*cel.Env, error) {
	attrs := cel.MapType(cel.StringType, cel.DynType)
	return cel.NewEnv(
		cel.Variable("request", attrs),
		cel.Variable("resource", attrs),
		cel.Variable("api", attrs),
		cel.Variable("destination", attrs),
		cel.Variable("origin", attrs),
		cel.Function("extract",
			cel.MemberOverload("string_extract_string", []*cel.Type{cel.StringType, cel.StringType}, cel.StringType,
				cel.BinaryBinding(extract))),
		unknownMember("matchTag", "resource.matchTag", 2),
		unknownMember("matchTagId", "resource.matchTagId", 2),
		unknownMember("hasTagKey", "resource.hasTagKey", 1),
		unknownMember("hasTagKeyId", "resource.hasTagKeyId", 1),
		cel.Function("getAttribute",
			cel.MemberOverload("map_getAttribute_string_dyn", []*cel.Type{attrs, cel.StringType, cel.DynType}, cel.DynType,
				cel.FunctionBinding(func(...ref.Val) ref.Val { return unknown("api.getAttribute") }))),
		cel.Function("inIpRange",
			cel.Overload("inIpRange_dyn_string", []*cel.Type{cel.DynType, cel.StringType}, cel.BoolType,
				cel.BinaryBinding(func(ref.Val, ref.Val) ref.Val { return unknown("inIpRange") }))),
	)
}

// unknownMember declares a boolean member function of resource whose value
// the audit cannot know.
func unknownMember(name, label string, strArgs int) cel.EnvOption {
	args := []*cel.Type{cel.MapType(cel.StringType, cel.DynType)}
	for range strArgs {
		args = append(args, cel.StringType)
	}
	return cel.Function(name,
		cel.MemberOverload("map_"+name, args, cel.BoolType,
			cel.FunctionBinding(func(...ref.Val) ref.Val { return unknown(label) })))
}

// unknown is the value of an attribute or function the audit cannot know;
// label names it in the reason.
func unknown(label string) ref.Val {
	return types.NewUnknown(0, types.NewAttributeTrail(label))
}

// extract implements IAM's string.extract(template): the text that the one
// {variable} of template stands for in the string, or "" when the string
// does not match the template. The template matches a prefix-free substring:
// text before the variable must occur in the string, and the variable runs
// up to the text after it (or to the end when nothing follows).
func extract(s, tmpl ref.Val) ref.Val {
	str, ok1 := s.(types.String)
	t, ok2 := tmpl.(types.String)
	if !ok1 || !ok2 {
		return types.NewErr("extract: want string arguments")
	}
	open := strings.IndexByte(string(t), '{')
	end := strings.IndexByte(string(t), '}')
	if open < 0 || end < open {
		return types.NewErr("extract: template %q has no {variable}", string(t))
	}
	before, after := string(t)[:open], string(t)[end+1:]
	i := strings.Index(string(str), before)
	if i < 0 {
		return types.String("")
	}
	rest := string(str)[i+len(before):]
	if after == "" {
		return types.String(rest)
	}
	j := strings.Index(rest, after)
	if j < 0 {
		return types.String("")
	}
	return types.String(rest[:j])
}
