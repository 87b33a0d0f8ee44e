#!/bin/sh
# modgraph.sh: the graph of spoold's modules, read from their objects with
# nm(1): module A -> B when A.o uses a symbol that B.o defines. It prints
# a line a module, callers above what they call ("loop -> spool child"),
# and exits 1, naming each cycle, when a module calls, directly or through
# others, back into a module that calls it.
#
#	sh tests/modgraph.sh build
#
# Exits 0 when the graph is one-way, 1 on a cycle, 66 (EX_NOINPUT) when
# the folder has no objects.

me=${0##*/}
dir=${1:-build}

set -- "$dir"/*.o
if [ ! -e "$1" ]; then
	echo "$me: no objects in $dir" >&2
	exit 66
fi

# One line a symbol: "D module symbol" where it is defined, "U module
# symbol" where it is used.
for o; do
	m=${o##*/}
	m=${m%.o}
	nm -P -g "$o" | awk -v m="$m" '
		$2 == "U" { print "U", m, $1; next }
		$2 ~ /^[A-Z]$/ { print "D", m, $1 }'
done | awk -v me="$me" '
$1 == "D" { def[$3] = def[$3] " " $2; mod[$2] = 1; next }
$1 == "U" { use[++nuse] = $2 " " $3; mod[$2] = 1 }

function edge(a, b) {
	if (a == b || ((a, b) in has))
		return
	has[a, b] = 1
	out[a, ++nout[a]] = b
}

# How far the module is above the bottom: 0 for one that calls no other.
# Cycles are found and named on the way.
function height(v,   i, w, h, s, c) {
	if (state[v] == 2)
		return ht[v]
	state[v] = 1
	stack[++depth] = v
	h = 0
	for (i = 1; i <= nout[v]; i++) {
		w = out[v, i]
		if (state[w] == 1) {
			for (s = depth; stack[s] != w; s--)
				;
			c = stack[s]
			for (s++; s <= depth; s++)
				c = c " -> " stack[s]
			cycles[++ncycles] = c " -> " w
			continue
		}
		if (height(w) + 1 > h)
			h = ht[w] + 1
	}
	depth--
	state[v] = 2
	ht[v] = h
	return h
}

function sorted(list, n,   i, j, t) {
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && list[j - 1] > list[j]; j--) {
			t = list[j]
			list[j] = list[j - 1]
			list[j - 1] = t
		}
}

END {
	for (i = 1; i <= nuse; i++) {
		split(use[i], u, " ")
		n = split(def[u[2]], d, " ")
		for (j = 1; j <= n; j++)
			edge(u[1], d[j])
	}
	nm = 0
	for (v in mod)
		names[++nm] = v
	sorted(names, nm)
	top = 0
	for (i = 1; i <= nm; i++)
		if (height(names[i]) > top)
			top = ht[names[i]]
	for (h = top; h >= 0; h--)
		for (i = 1; i <= nm; i++) {
			v = names[i]
			if (ht[v] != h)
				continue
			k = 0
			for (j = 1; j <= nout[v]; j++)
				callee[++k] = out[v, j]
			sorted(callee, k)
			line = v
			if (k > 0)
				line = line " ->"
			for (j = 1; j <= k; j++)
				line = line " " callee[j]
			print line
		}
	for (i = 1; i <= ncycles; i++)
		printf "%s: cycle: %s\n", me, cycles[i] > "/dev/stderr"
	if (ncycles > 0) {
		printf "%s: the modules are not a one-way graph\n", me \
		    > "/dev/stderr"
		exit 1
	}
}'
