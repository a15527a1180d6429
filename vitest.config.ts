import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    projects: [
      // Each project lists its own files (with extends, an include at the root would be added to both).
      { extends: true, test: { name: "unit", include: ["test/**/*.test.ts"], exclude: ["test/gpu/**", "**/node_modules/**"] } },
      {
        extends: true,
        test: {
          name: "gpu",
          include: ["test/gpu/**/*.test.ts"],
          // One file at a time: on lavapipe the "GPU" is every CPU core, and a software adapter
          // compiles each pipeline on first use (seconds each), hence the long timeouts.
          fileParallelism: false,
          testTimeout: 900_000,
          hookTimeout: 1_200_000,
          poolOptions: {
            forks: {
              // --no-opt was the workaround for crashes at the first GPU wait once V8 had optimised
              // a hot loop. The cause was the GPU instance being garbage-collected under its
              // device (fixed in src/gpu/device.ts), so the engine itself runs without it;
              // AUGMENT_GPU_TESTS_OPT=1 runs these files with the optimiser on, to check that.
              execArgv: process.env.AUGMENT_GPU_TESTS_OPT === "1" ? [] : ["--no-opt"],
            },
          },
        },
      },
    ],
  },
});
