#!/bin/sh
# Installs the drover package named by $DROVER_PACKAGE (a .deb or an .rpm) into an image
# being baked (Packer, EC2 Image Builder) and enables the service. Run as root.
set -eu
pkg=${DROVER_PACKAGE:?set DROVER_PACKAGE to the path of the .deb or .rpm}

case $pkg in
*.deb)
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q "$pkg"
	;;
*.rpm)
	dnf install -y "$pkg"
	;;
*)
	echo "install-drover: $pkg is neither a .deb nor an .rpm" >&2
	exit 1
	;;
esac

drover config-test
systemctl enable drover.service
# The image must not carry the build instance's run: stop drover and forget its state
# (drover would ignore state from another instance anyway; this keeps the image clean).
systemctl stop drover.service || :
rm -rf /var/lib/drover/* "$pkg"
echo "install-drover: $(drover version) installed and enabled"
