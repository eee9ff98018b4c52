#!/usr/bin/env bash
# Mutation testing of the rules (src/auth) and the stores (src/store) with cargo-mutants:
# every mutant should be caught by a test, or be listed with the reason it is equivalent
# in bench/mutants-equivalent.txt (whose entries are skipped here).
#
#   bench/mutants.sh            # both parts, one after the other
#   bench/mutants.sh auth       # src/auth/** against the library's unit tests
#   bench/mutants.sh store      # src/store/** but the databases, against the unit, file and contract tests
#   bench/mutants.sh db         # src/store/{sqlite,postgres,migrate}.rs: the three parts below
#   bench/mutants.sh sqlite     # src/store/sqlite.rs, against the contract, SQLite process and migration tests
#   bench/mutants.sh postgres   # src/store/postgres.rs, against the contract, PostgreSQL and migration tests
#   bench/mutants.sh migrate    # src/store/migrate.rs, against the contract and migration tests
#   bench/mutants.sh auth --shard 1/4    # further cargo-mutants options pass through
#
# Results: target/mutants/<part>/mutants.out/{caught,missed,timeout,unviable}.txt.
# It takes hours on 2 cores (each mutant is a rebuild and a test run); see bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-mutants >/dev/null || cargo install --locked cargo-mutants
# Mutants are built many times: no debug info, so linking is quicker.
export CARGO_PROFILE_DEV_DEBUG=0 CARGO_PROFILE_TEST_DEBUG=0

parts=("${1:-all}")
[ $# -gt 0 ] && shift
[ "${parts[0]}" = all ] && parts=(auth store db)
[ "${parts[*]}" = "auth store db" ] && parts=(auth store sqlite postgres migrate)
[ "${parts[0]}" = db ] && parts=(sqlite postgres migrate)

# Equivalent mutants, one `file:line:col: description` per line (as `--list` names them)
# followed by ` # reason`; turned into --exclude-re patterns.
# Also skipped: bench/mutants-destructive.txt, mutants that a test catches but that harm
# the machine when run as root (they give directories like / away), in the same form.
# Neither list can hold a "delete field" mutant: cargo-mutants 27 runs those whatever
# --exclude-re says (see the count after each part).
# The entries name mutants by line and column, so an entry the code has moved away from
# would quietly stop being skipped (and a destructive one would run): the script refuses
# to start while any entry is not a mutant of the code as it is.
current="$(cargo mutants --list)"
excludes=()
equivalent=()
stale=0
for list in bench/mutants-equivalent.txt bench/mutants-destructive.txt; do
    [ -f "$list" ] || continue
    while IFS= read -r line; do
        line="${line%%#*}"
        line="${line%"${line##*[![:space:]]}"}"
        [ -n "$line" ] || continue
        if ! grep -qxF -- "$line" <<<"$current"; then
            echo "bench/mutants.sh: $list names no mutant of the code now (did its line move?): $line" >&2
            stale=1
        fi
        [ "$list" = bench/mutants-equivalent.txt ] && equivalent+=("$line")
        excludes+=(--exclude-re "^$(printf '%s' "$line" | sed 's/[][\.*^$(){}+?|]/\\&/g')\$")
    done < "$list"
done
[ "$stale" = 0 ] || exit 2

for part in "${parts[@]}"; do
    case "$part" in
        auth) files=(--file 'src/auth/**'); tests=(--lib) ;;
        store)
            files=(--file 'src/store/**' --exclude src/store/sqlite.rs --exclude src/store/postgres.rs
                --exclude src/store/migrate.rs)
            tests=(--lib --test store_files --test file_rules --test event_log --test faults --test journal
                --test contract)
            ;;
        # The database tests are slow (each binary starts a throwaway PostgreSQL, and the
        # process tests start hundreds of authtui processes): each database file runs only
        # the tests that reach it.
        sqlite)
            files=(--file src/store/sqlite.rs)
            tests=(--lib --test contract --test store_processes --test migrate)
            ;;
        postgres)
            files=(--file src/store/postgres.rs)
            tests=(--lib --test contract --test postgres --test migrate)
            ;;
        migrate)
            files=(--file src/store/migrate.rs)
            tests=(--lib --test contract --test migrate)
            ;;
        *)
            echo "bench/mutants.sh: unknown part '$part' (auth, store, db, sqlite, postgres, migrate or all)" >&2
            exit 2
            ;;
    esac
    echo "== mutants of $part"
    mkdir -p "target/mutants/$part"
    # The targets go to every cargo call (-C), so that each mutant's build links only the
    # test binaries that run, not all of them.
    targets=()
    for t in "${tests[@]}"; do targets+=(-C "$t"); done
    cargo mutants "${files[@]}" "${excludes[@]}" --output "target/mutants/$part" \
        --timeout-multiplier 3 "${targets[@]}" "$@" || true
    out="target/mutants/$part/mutants.out"
    for kind in caught missed timeout unviable; do
        printf '%-9s %s\n' "$kind" "$(cat "$out/$kind.txt" 2>/dev/null | wc -l)"
    done
    # cargo-mutants 27 applies neither --re nor --exclude-re to its "delete field …"
    # mutants (visit.rs adds them without the name filter), so a listed one runs anyway
    # and shows as missed: say how many of the missed are listed.
    listed="$(grep -cxF -f <(printf '%s\n' "${equivalent[@]}") "$out/missed.txt" 2>/dev/null || true)"
    printf '%-9s %s (of the missed: listed as equivalent, run despite the list)\n' listed "${listed:-0}"
done
