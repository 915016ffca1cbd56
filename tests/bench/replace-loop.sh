#!/bin/sh
# What people script instead of drover: run the check every second and, after three
# failures in a row, ask Auto Scaling to replace this instance. Usage:
#   replace-loop.sh IMDS-URL AWS-ENDPOINT-URL CHECK [ARGS...]
imds=$1 endpoint=$2
shift 2
token=$(curl -sf -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' "$imds/latest/api/token")
id=$(curl -sf -H "X-aws-ec2-metadata-token: $token" "$imds/latest/meta-data/instance-id")
fails=0
while :; do
	if "$@" >/dev/null; then fails=0; else fails=$((fails + 1)); fi
	if [ "$fails" -ge 3 ]; then
		aws autoscaling set-instance-health --endpoint-url "$endpoint" \
			--instance-id "$id" --health-status Unhealthy && exit 0
	fi
	sleep 1
done
