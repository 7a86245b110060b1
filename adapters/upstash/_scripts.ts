// Every script reads the Redis server's clock, never the caller's, so that
// processes with skewed clocks share one notion of time. Since Redis 5 a
// script's effects are replicated rather than the script itself, which is
// what allows `TIME` before writes.
export const SERVER_NOW: string = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
`;
