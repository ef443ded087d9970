/**
 * A bucket policy at its 20 KiB capacity: the modes that do not grow it. In role-in-bucket-account mode the role
 * lives in the bucket account and its own policy grants the prefix; with access points the bucket policy holds
 * one delegation statement for all of them. Both refusals (planned, and found by a batched write) name them.
 */
export const MODES_THAT_DO_NOT_GROW_THE_BUCKET_POLICY = ['role-in-bucket-account', 'access-point'] as const;

export const bucketPolicyCapacityAdvice =
  "; or onboard with crossAccountMode role-in-bucket-account (the role lives in the bucket account and its own policy grants the prefix: the bucket policy does not grow) or access-point where it is offered (one delegation statement for all of a bucket's access points)";
