package testenv

import (
	"context"
	"strings"

	"github.com/redis/go-redis/v9"
)

// KillRedisClient closes every Redis connection whose client name is name
// (CLIENT LIST, then CLIENT KILL ID), as a network failure or a Redis
// restart would, and returns how many it closed. Name the clients under
// test (redis.Options.ClientName) so that nothing else is touched.
func KillRedisClient(ctx context.Context, admin *redis.Client, name string) (int, error) {
	list, err := admin.ClientList(ctx).Result()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, line := range strings.Split(list, "\n") {
		if !strings.Contains(line, " name="+name+" ") {
			continue
		}
		for _, f := range strings.Fields(line) {
			if id, ok := strings.CutPrefix(f, "id="); ok && admin.Do(ctx, "CLIENT", "KILL", "ID", id).Err() == nil {
				n++
			}
		}
	}
	return n, nil
}
