#!/bin/bash
# Queue the array, then the merge once every task has succeeded.
set -euo pipefail
cd "$(dirname "$0")"
jid=$(sbatch --parsable augment.sbatch)
sbatch --dependency=afterok:"${jid%%;*}" merge.sbatch
