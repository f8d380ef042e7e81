package scan

import (
	"context"
	"fmt"
	"time"

	asset "cloud.google.com/go/asset/apiv1"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// EmulatorHostEnv names the variable that points the live source at a fake
// or emulated Cloud Asset Inventory, following the emulator-host
// convention of the other Google Cloud clients.
const EmulatorHostEnv = "CLOUDASSET_EMULATOR_HOST"

// DefaultAttemptTimeout bounds one ListAssets attempt; a slow attempt is
// retried like an unavailable one.
const DefaultAttemptTimeout = 60 * time.Second

// ClientConfig says how to reach Cloud Asset Inventory.
type ClientConfig struct {
	// EmulatorHost, when set ("host:port"), is dialled in plaintext without
	// credentials. Otherwise the client uses Application Default
	// Credentials against the real service.
	EmulatorHost string
	// Pacer, if set, paces and counts every call on the connection.
	Pacer *Pacer
	// AttemptTimeout bounds each attempt; 0 means DefaultAttemptTimeout.
	AttemptTimeout time.Duration
}

// NewAssetClient returns the Cloud Asset Inventory client for c; extra
// options come last and win.
func NewAssetClient(ctx context.Context, c ClientConfig, extra ...option.ClientOption) (*asset.Client, error) {
	var opts []option.ClientOption
	if c.EmulatorHost != "" {
		opts = append(opts,
			option.WithEndpoint(c.EmulatorHost),
			option.WithoutAuthentication(),
			option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
		)
	}
	if c.Pacer != nil {
		timeout := c.AttemptTimeout
		if timeout == 0 {
			timeout = DefaultAttemptTimeout
		}
		opts = append(opts, option.WithGRPCDialOption(grpc.WithChainUnaryInterceptor(c.Pacer.UnaryInterceptor(timeout))))
	}
	opts = append(opts, extra...)
	cl, err := asset.NewClient(ctx, opts...)
	if err != nil {
		if c.EmulatorHost != "" {
			return nil, fmt.Errorf("connecting to the Cloud Asset Inventory emulator at %s (%s): %w", c.EmulatorHost, EmulatorHostEnv, err)
		}
		return nil, fmt.Errorf("connecting to Cloud Asset Inventory with Application Default Credentials: %w", err)
	}
	return cl, nil
}
