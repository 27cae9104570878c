#!/usr/bin/env bash
# Build the CloudFormation package of a stage and lint it:
#   scripts/package.sh [STAGE] [OUT]     (defaults: prod build/package)
# Run from the project folder with the virtualenv's tools on PATH (`make
# package` does both). Dependencies come from the wheelhouse `make wheelhouse`
# fills, never straight from the network, so the package is reproducible.
set -euo pipefail
stage="${1:-prod}"
out="${2:-build/package}"
wheelhouse="${WHEELHOUSE:-$PWD/build/wheelhouse}"
test -d "$wheelhouse" || { echo "no wheelhouse at $wheelhouse: run make wheelhouse" >&2; exit 1; }

mkdir -p build
rm -rf "$out"
python -m nlc_tools.cli cloudformation --stage "$stage" > "build/resources-$stage.json"
export PIP_NO_INDEX=1 PIP_FIND_LINKS="$wheelhouse"
# The bytecode Chalice then ships (chalicelib/__pycache__ and vendor/).
python -m nlc_tools.bytecode
AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-eu-west-2}" chalice package --stage "$stage" --merge-template "build/resources-$stage.json" "$out"
cfn-lint "$out/sam.json"
echo "packaged $stage in $out: $(du -k "$out/deployment.zip" | cut -f1) KB of code; template passes cfn-lint"
