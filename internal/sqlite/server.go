package sqlite

import (
	"context"
	"strconv"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

const (
	settingServerScheme = "server.scheme"
	settingServerHost   = "server.external_address"
	settingServerPort   = "server.port"
)

// serverAddress reads the configured address; ok is false when none is.
func (tx *Tx) serverAddress() (a gatehouse.ServerAddress, ok bool, err error) {
	host, ok, err := tx.Setting(settingServerHost)
	if err != nil || !ok {
		return a, false, err
	}
	scheme, _, err := tx.Setting(settingServerScheme)
	if err != nil {
		return a, false, err
	}
	port, _, err := tx.Setting(settingServerPort)
	if err != nil {
		return a, false, err
	}
	n, _ := strconv.Atoi(port)
	return gatehouse.ServerAddress{Scheme: scheme, Host: host, Port: n}, true, nil
}

// ServerAddress returns the server's external address; ok is false when it
// has not been configured.
func (db *DB) ServerAddress(ctx context.Context) (a gatehouse.ServerAddress, ok bool, err error) {
	err = db.View(ctx, func(tx *Tx) error {
		a, ok, err = tx.serverAddress()
		return err
	})
	return a, ok, err
}

// ServerUpdate is a change to the external address; nil fields keep their
// current value.
type ServerUpdate struct {
	Scheme *string
	Host   *string
	Port   *int
}

// ConfigureServer validates and records the server's external address.
// It returns the address now in force and whether it changed; an update
// that changes nothing writes nothing and appends no event.
func (db *DB) ConfigureServer(ctx context.Context, actor string, u ServerUpdate) (gatehouse.ServerAddress, bool, error) {
	var next gatehouse.ServerAddress
	ev, err := db.ChangeAsAdmin(ctx, actor, "server.configure", "server", func(tx *Tx) (*gatehouse.NewEvent, error) {
		cur, ok, err := tx.serverAddress()
		if err != nil {
			return nil, err
		}
		if !ok {
			if u.Host == nil || u.Port == nil {
				return nil, gatehouse.Errorf(gatehouse.EINVALID, "the server is not configured yet: give both --external-address and --port")
			}
			cur.Scheme = "https"
		}
		scheme, host, port := cur.Scheme, cur.Host, cur.Port
		if u.Scheme != nil {
			scheme = *u.Scheme
		}
		if u.Host != nil {
			host = *u.Host
		}
		if u.Port != nil {
			port = *u.Port
		}
		if next, err = gatehouse.ParseServerAddress(scheme, host, port); err != nil {
			return nil, err
		}
		if ok && next == cur {
			return nil, nil
		}
		for k, v := range map[string]string{
			settingServerScheme: next.Scheme,
			settingServerHost:   next.Host,
			settingServerPort:   strconv.Itoa(next.Port),
		} {
			if err := tx.SetSetting(k, v); err != nil {
				return nil, err
			}
		}
		details := map[string]any{"login_url": next.LoginURL()}
		if ok {
			details["previous_login_url"] = cur.LoginURL()
		}
		return &gatehouse.NewEvent{
			Actor: actor, Action: "server.configure", Target: "server",
			Outcome: gatehouse.OutcomeSuccess, Details: details,
		}, nil
	})
	return next, ev != nil, err
}
