#!/usr/bin/env bash
# `moe train` layouts that do not fit the world or the model end the job before any work with one
# ConfigError line from rank 0 naming the key.
source "$(dirname "$0")/lib.bash"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
ARGS=(--model mixtral-tiny --num-layers 1 --seq-length 16 --data-path "$WORK/none" --train-iters 1 --threads 1)

JOB_EXIT_CODE=1  # a ConfigError from rank 0, not an abort

expect_error "EP 2 in one process" "expert_model_parallel_size = 2 .*does not divide the world size 1" \
  "$MOE" train "${ARGS[@]}" --expert-model-parallel-size 2
expect_job_error "EP 2 on 3 ranks" "expert_model_parallel_size = 2 .*does not divide the world size 3" \
  mpirun -np 3 "$MOE" train "${ARGS[@]}" --expert-model-parallel-size 2
expect_job_error "EP 3 of 8 experts" "expert_model_parallel_size = 3 does not divide num_experts = 8" \
  mpirun -np 3 "$MOE" train "${ARGS[@]}" --expert-model-parallel-size 3
expect_job_error "global batch over 2 ranks" "global_batch_size = 6 is not a multiple of micro_batch_size x data-parallel ranks = 2 x 2" \
  mpirun -np 2 "$MOE" train "${ARGS[@]}" --micro-batch-size 2 --global-batch-size 6
expect_job_error "TP 3 of 8 heads" "tensor_model_parallel_size = 3 does not divide num_attention_heads = 8" \
  mpirun -np 3 "$MOE" train "${ARGS[@]}" --tensor-model-parallel-size 3
expect_job_error "TP 2 without sequence parallel" "tensor_model_parallel_size = 2: MoE layers need sequence_parallel: true" \
  mpirun -np 2 "$MOE" train "${ARGS[@]}" --tensor-model-parallel-size 2
expect_job_error "TP 2 of 15 positions" "seq_length = 15 is not a multiple of tensor_model_parallel_size = 2" \
  mpirun -np 2 "$MOE" train "${ARGS[@]}" --tensor-model-parallel-size 2 --sequence-parallel --seq-length 15
expect_job_error "TP 2 of OLMoE" "tensor_model_parallel_size = 2: this model normalises q and k over the whole projection" \
  mpirun -np 2 "$MOE" train "${ARGS[@]}" --model olmoe-tiny --tensor-model-parallel-size 2 --sequence-parallel
expect_job_error "TP 4 on 2 ranks" "tensor_model_parallel_size = 4 does not divide the world size 2" \
  mpirun -np 2 "$MOE" train "${ARGS[@]}" --tensor-model-parallel-size 4 --sequence-parallel

finish
