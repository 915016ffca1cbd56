# Bakes drover into an AMI: Amazon Linux 2023 (the .rpm) or Debian 12 (the .deb).
#
#   packer build -var base=al2023 -var package=drover-0.1.0-1.x86_64.rpm packaging/ami
#   packer build -var base=debian12 -var package=drover_0.1.0-1_amd64.deb packaging/ami
#
# Packer >= 1.7 needs the Amazon plugin first: `packer plugins install
# github.com/hashicorp/amazon` (Packer 1.6, Debian's, has it built in). The image runs
# drover under the instance profile of the instances launched from it: give that role
# the least-privilege policy in packaging/iam-policy.json. Baking itself needs no
# drover permissions.

variable "base" {
  type        = string
  default     = "al2023"
  description = "Base image: al2023 or debian12."
}

variable "package" {
  type        = string
  description = "Path of the drover package to install: the .rpm for al2023, the .deb for debian12."
}

variable "region" {
  type    = string
  default = "us-east-1"
}

variable "instance_type" {
  type    = string
  default = "t3.small"
}

variable "subnet_id" {
  type        = string
  default     = ""
  description = "Subnet for the build instance (empty: the default VPC)."
}

locals {
  stamp = regex_replace(timestamp(), "[-:TZ]", "")
  # Official images: Amazon's AL2023 and Debian's own account.
  base_owner = {
    al2023   = "137112412989"
    debian12 = "136693071363"
  }
  base_name = {
    al2023   = "al2023-ami-2023.*-kernel-*-x86_64"
    debian12 = "debian-12-amd64-*"
  }
  ssh_user = {
    al2023   = "ec2-user"
    debian12 = "admin"
  }
  remote_package = "/tmp/${basename(var.package)}"
}

source "amazon-ebs" "drover" {
  region          = var.region
  instance_type   = var.instance_type
  subnet_id       = var.subnet_id
  ssh_username    = local.ssh_user[var.base]
  ami_name        = "drover-${var.base}-${local.stamp}"
  ami_description = "${var.base} with the drover self-healing node agent"

  source_ami_filter {
    filters = {
      name                = local.base_name[var.base]
      architecture        = "x86_64"
      root-device-type    = "ebs"
      virtualization-type = "hvm"
    }
    owners      = [local.base_owner[var.base]]
    most_recent = true
  }

  # drover speaks IMDSv2 only: bake and run images that require it.
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  tags = {
    Name    = "drover-${var.base}"
    Base    = var.base
    Package = basename(var.package)
  }
}

build {
  sources = ["source.amazon-ebs.drover"]

  provisioner "file" {
    source      = var.package
    destination = local.remote_package
  }

  provisioner "shell" {
    script           = "${path.root}/install-drover.sh"
    environment_vars = ["DROVER_PACKAGE=${local.remote_package}"]
    execute_command  = "sudo -E sh -c '{{ .Vars }} {{ .Path }}'"
  }
}
