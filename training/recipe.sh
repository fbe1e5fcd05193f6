#!/usr/bin/env bash
# The shipped model's recipe, end to end: teacher ensembles, then students distilled from them,
# then scores. Written for one GPU (several runs share it at once: JOBS); works on a CPU too,
# slowly (JOBS=1). Every step is a plain `fer-audio train` you can also run by hand; a step whose
# run folder is finished is skipped, an unfinished one resumes.
#
#   STAGE=teachers training/recipe.sh   # 4 crowd-vote teachers (80 epochs), 6 own-label ones (120)
#   STAGE=students training/recipe.sh   # the students distilled from each ensemble (120 epochs)
#   (TEACHER_SETS=label: the own-label ones only, in both stages; two chains, one per set, can
#   share a GPU, so the crowd students start while the longer own-label teachers still train)
#   STAGE=score    training/recipe.sh   # val/test figures of every run and ensemble (any backend)
#
# On a GPU machine without TensorFlow: KERAS_BACKEND=jax, and FER_AUDIO="python3 -m fer_audio".
# Back here (TensorFlow), `fer-audio train ... --out RUN --resume` on a finished student run
# exports it to TFLite and scores the exports (training/README.md).
set -euo pipefail
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}

DATA=${DATA:-../shared/datasets/fer2013-images.tar.gz}
VOTES=${VOTES:-../shared/datasets/ferplus-votes.csv}
RUNS=${RUNS:-runs/recipe}
FER_AUDIO=${FER_AUDIO:-fer-audio}
PYTHON=${PYTHON:-python3}              # for training.score
JOBS=${JOBS:-1}                        # runs at once
TEACHERS=${TEACHERS:-4}                # members of the crowd-vote teacher ensemble
TEACHER_WIDTHS=${TEACHER_WIDTHS:-64,128,256,512}
TEACHER_EPOCHS=${TEACHER_EPOCHS:-80}
LABEL_TEACHERS=${LABEL_TEACHERS:-6}    # members of the own-label one
LABEL_TEACHER_EPOCHS=${LABEL_TEACHER_EPOCHS:-120}  # own-label teachers' schedule
LABEL_PATIENCE=${LABEL_PATIENCE:-0}    # own-label teachers: stop after N epochs without a better score
STUDENT_EPOCHS=${STUDENT_EPOCHS:-120}
CROWD_DISTILL_WEIGHT=${CROWD_DISTILL_WEIGHT:-0.7}  # the crowd student's share of the teachers' mean
TEACHER_SETS=${TEACHER_SETS:-crowd label}  # which ensembles (teachers, then students) the stages train
read -r -a STUDENT_ARGS <<<"${STUDENT_ARGS---teacher-mirror}"  # options for every student ("": none)
read -r -a EXTRA_ARGS <<<"${EXTRA_ARGS:-}"      # more options for every run, e.g. --limit 256 (smoke run)
COMMON=(--data "$DATA" --batch-size 128 --learning-rate 0.002 --patience 0 --no-export "${EXTRA_ARGS[@]}")

mkdir -p "$RUNS"
pending=()

# run NAME ARGS...: one training run into $RUNS/NAME (log in $RUNS/NAME.log), JOBS at a time
run() {
    local name=$1
    shift
    local out=$RUNS/$name resume=()
    mkdir -p "$(dirname "$out")"
    if [[ -f $out/state.json ]]; then resume=(--resume); fi
    while (($(jobs -rp | wc -l) >= JOBS)); do wait -n || true; done
    echo "start $name: $FER_AUDIO train ${COMMON[*]} --out $out $* ${resume[*]}"
    # the log is appended to: a resumed run keeps the lines of its earlier epochs
    # shellcheck disable=SC2086  # FER_AUDIO may be several words ("python3 -m fer_audio")
    $FER_AUDIO train "${COMMON[@]}" --out "$out" "$@" "${resume[@]}" >>"$RUNS/$name.log" 2>&1 &
    pending+=("$name:$!")
}

# wants SET: whether TEACHER_SETS names SET (crowd or label)
wants() { [[ " $TEACHER_SETS " == *" $1 "* ]]; }

finish() {
    local failed=0 entry
    for entry in "${pending[@]}"; do
        if ! wait "${entry#*:}"; then
            echo "${entry%%:*} failed: see $RUNS/${entry%%:*}.log" >&2
            failed=1
        fi
    done
    pending=()
    return $failed
}

case ${STAGE:-all} in
teachers | all)
    if wants crowd; then
        for k in $(seq 1 "$TEACHERS"); do
            run "crowd-teachers/member-$k" --votes "$VOTES" --widths "$TEACHER_WIDTHS" \
                --epochs "$TEACHER_EPOCHS" --seed $((1233 + k))
        done
    fi
    if wants label; then
        for k in $(seq 1 "$LABEL_TEACHERS"); do
            run "label-teachers/member-$k" --widths "$TEACHER_WIDTHS" --epochs "$LABEL_TEACHER_EPOCHS" \
                --patience "$LABEL_PATIENCE" --seed $((1233 + k))
        done
    fi
    finish
    ;;&
students | all)
    if wants crowd; then
        run crowd-student --votes "$VOTES" --teacher "$RUNS/crowd-teachers" --epochs "$STUDENT_EPOCHS" \
            --distill-weight "$CROWD_DISTILL_WEIGHT" "${STUDENT_ARGS[@]}"
        for extra in ${EXTRA_STUDENTS:-}; do  # name=weight=widths, e.g. crowd-student-w05=0.5=32,64,128,256
            IFS== read -r name weight widths <<<"$extra"
            run "$name" --votes "$VOTES" --teacher "$RUNS/crowd-teachers" --epochs "$STUDENT_EPOCHS" \
                --distill-weight "$weight" --widths "$widths" "${STUDENT_ARGS[@]}"
        done
    fi
    if wants label; then
        run label-student --teacher "$RUNS/label-teachers" --epochs "$STUDENT_EPOCHS" "${STUDENT_ARGS[@]}"
    fi
    finish
    ;;&
score | all)
    for set in crowd-teachers label-teachers; do
        [[ -d $RUNS/$set ]] || continue
        "$PYTHON" -m training.score --data "$DATA" --votes "$VOTES" --json "$RUNS/$set.score.json" "$RUNS/$set"
    done
    for student in "$RUNS"/*student*/; do
        [[ -f $student/best.keras ]] || continue
        "$PYTHON" -m training.score --data "$DATA" --votes "$VOTES" --json "${student%/}.score.json" "$student"
    done
    ;;
esac
