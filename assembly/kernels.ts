// Placeholder; replaced by the aggregation kernels.
export function version (): i32 { return 1 }
