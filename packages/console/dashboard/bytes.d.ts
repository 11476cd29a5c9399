/** 1536 → "1.5 KiB". */
export declare function formatBytes(bytes: number): string;
