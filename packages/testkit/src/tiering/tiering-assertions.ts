import { expect } from 'vitest';
import { TieringError, type TieringErrorCode } from '@takhin/core';

/** Awaits a promise that must reject with a `TieringError` of `code` (and `message`); returns the error. */
export async function expectTieringError(promise: Promise<unknown>, code: TieringErrorCode, message?: RegExp): Promise<TieringError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  return checkTieringError(error, code, message);
}

/** Calls `call`, which must throw a `TieringError` of `code` (and `message`); returns the error. */
export function expectTieringErrorSync(call: () => unknown, code: TieringErrorCode, message?: RegExp): TieringError {
  let error: unknown;
  try {
    call();
  } catch (e) {
    error = e;
  }
  return checkTieringError(error, code, message);
}

function checkTieringError(error: unknown, code: TieringErrorCode, message: RegExp | undefined): TieringError {
  expect(error, `expected a TieringError ${code}`).toBeInstanceOf(TieringError);
  expect((error as TieringError).code, (error as Error).message).toBe(code);
  if (message) expect((error as Error).message).toMatch(message);
  return error as TieringError;
}
